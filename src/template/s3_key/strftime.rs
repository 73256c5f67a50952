//! UTC `strftime` conversions for S3 keys, with glibc's C-locale output: the subset
//! [`super::SUPPORTED_CONVERSIONS`] lists. Pure; `write` never panics, whatever the time.

use std::fmt::Write as _;

use crate::time::civil_from_days;

const MONTH_NAMES: [&str; 12] = [
    "January",
    "February",
    "March",
    "April",
    "May",
    "June",
    "July",
    "August",
    "September",
    "October",
    "November",
    "December",
];
pub(super) const WEEKDAY_NAMES: [&str; 7] = [
    "Sunday",
    "Monday",
    "Tuesday",
    "Wednesday",
    "Thursday",
    "Friday",
    "Saturday",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum TimeField {
    Year,
    Month,
    Day,
    Hour,
    Minute,
    Second,
    YearOfCentury,
    DayOfYear,
    MonthAbbr,
    MonthName,
    WeekdayAbbr,
    WeekdayName,
    DaySpacePadded,
    Hour12,
    AmPm,
    UnixSeconds,
    IsoDate,
    IsoTime,
}

impl TimeField {
    pub(super) fn from_conversion(c: char) -> Option<Self> {
        Some(match c {
            'Y' => Self::Year,
            'm' => Self::Month,
            'd' => Self::Day,
            'H' => Self::Hour,
            'M' => Self::Minute,
            'S' => Self::Second,
            'y' => Self::YearOfCentury,
            'j' => Self::DayOfYear,
            'b' => Self::MonthAbbr,
            'B' => Self::MonthName,
            'a' => Self::WeekdayAbbr,
            'A' => Self::WeekdayName,
            'e' => Self::DaySpacePadded,
            'I' => Self::Hour12,
            'p' => Self::AmPm,
            's' => Self::UnixSeconds,
            'F' => Self::IsoDate,
            'T' => Self::IsoTime,
            _ => return None,
        })
    }
}

/// A UTC instant broken down the way `gmtime` does.
pub(super) struct CivilTime {
    unix_secs: i64,
    year: i64,
    month: u32, // 1..=12
    day: u32,   // 1..=31
    hour: u32,
    minute: u32,
    second: u32,
    day_of_year: u32, // 1..=366
    weekday: u32,     // 0 = Sunday
}

impl CivilTime {
    pub(super) fn from_unix(unix_secs: i64) -> Self {
        const SECS_PER_DAY: i64 = 86_400;
        // Cumulative days before each month in a common year.
        const DAYS_BEFORE_MONTH: [u32; 12] =
            [0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334];
        let days = unix_secs.div_euclid(SECS_PER_DAY);
        // In 0..86_400, so it fits u32.
        let secs_of_day = unix_secs.rem_euclid(SECS_PER_DAY) as u32;
        let (year, month, day) = civil_from_days(days);
        let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
        let before = DAYS_BEFORE_MONTH
            .get(month as usize - 1)
            .copied()
            .unwrap_or_default();
        Self {
            unix_secs,
            year,
            month,
            day,
            hour: secs_of_day / 3600,
            minute: secs_of_day / 60 % 60,
            second: secs_of_day % 60,
            day_of_year: before + day + u32::from(leap && month > 2),
            // 1970-01-01 was a Thursday; in 0..7, so it fits u32.
            weekday: (days + 4).rem_euclid(7) as u32,
        }
    }

    pub(super) fn write(&self, field: TimeField, out: &mut String) {
        let month_name = MONTH_NAMES
            .get(self.month as usize - 1)
            .copied()
            .unwrap_or_default();
        let weekday_name = WEEKDAY_NAMES
            .get(self.weekday as usize)
            .copied()
            .unwrap_or_default();
        // Writing to a String cannot fail.
        let _ = match field {
            TimeField::Year => write!(out, "{}", self.year),
            TimeField::Month => write!(out, "{:02}", self.month),
            TimeField::Day => write!(out, "{:02}", self.day),
            TimeField::Hour => write!(out, "{:02}", self.hour),
            TimeField::Minute => write!(out, "{:02}", self.minute),
            TimeField::Second => write!(out, "{:02}", self.second),
            TimeField::YearOfCentury => write!(out, "{:02}", self.year.rem_euclid(100)),
            TimeField::DayOfYear => write!(out, "{:03}", self.day_of_year),
            TimeField::MonthAbbr => out.write_str(month_name.get(..3).unwrap_or_default()),
            TimeField::MonthName => out.write_str(month_name),
            TimeField::WeekdayAbbr => out.write_str(weekday_name.get(..3).unwrap_or_default()),
            TimeField::WeekdayName => out.write_str(weekday_name),
            TimeField::DaySpacePadded => write!(out, "{:>2}", self.day),
            TimeField::Hour12 => write!(out, "{:02}", (self.hour + 11) % 12 + 1),
            TimeField::AmPm => out.write_str(if self.hour < 12 { "AM" } else { "PM" }),
            TimeField::UnixSeconds => write!(out, "{}", self.unix_secs),
            TimeField::IsoDate => write!(out, "{}-{:02}-{:02}", self.year, self.month, self.day),
            TimeField::IsoTime => {
                write!(
                    out,
                    "{:02}:{:02}:{:02}",
                    self.hour, self.minute, self.second
                )
            }
        };
    }
}
