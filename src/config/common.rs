//! What every entry shares, written once: the header of inputs (`alias`), of outputs and
//! filters (`alias`, `match`, `match_regex`), and the AWS keys of every AWS output (`region`,
//! `profile`, `endpoint`, `sts_endpoint`, `role_arn`, `external_id`).
//!
//! An options struct is declared through [`entry_options!`], which puts the shared keys first,
//! each with its documentation, and implements [`Entry`] (and [`AwsEntry`]) over them. The keys
//! stay top-level fields, as Fluent Bit writes them, so serde's `deny_unknown_fields` and the
//! loader's field list (unknown keys, suggestions, the reference test) see every key.
//! [`entry_kinds!`] declares the enum of a kind (inputs, outputs) from one list of plugins, so
//! that adding a plugin is its options file and one line there.

use super::errors::Issue;
use super::spans::KeyPath;

/// The shared header of an entry, borrowed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Common<'a> {
    pub alias: Option<&'a str>,
    /// `match` (inputs have none).
    pub match_: Option<&'a str>,
    pub match_regex: Option<&'a str>,
}

/// An input, output or filter entry: its header, read and resolved through this trait only.
pub trait Entry {
    /// The default alias's stem: `<stem>.<n>` (the plugin's name, `forward_out` for the
    /// forward output).
    fn alias_stem(&self) -> &'static str;
    fn common(&self) -> Common<'_>;
    /// Where the alias is stored (the loader fills in `<plugin>.<n>`).
    fn alias_mut(&mut self) -> &mut Option<String>;
    /// The AWS keys, for an AWS output.
    fn aws(&self) -> Option<&dyn AwsEntry> {
        None
    }
    /// The AWS keys, to fill in the region.
    fn aws_mut(&mut self) -> Option<&mut dyn AwsEntry> {
        None
    }
}

/// What validation checks of an entry's options alone that types cannot say (required keys,
/// combinations, templates, files); nothing by default. The header's match rules are checked
/// for every entry by validation itself, and so is what needs other parts of the configuration
/// (filters are built once against the configured parsers: `filters::check`).
pub trait Check {
    fn check(&self, _path: &KeyPath, _issues: &mut Vec<Issue>) {}
}

/// The AWS keys of an AWS output, borrowed: what its SDK client is built from.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct AwsAuth<'a> {
    pub region: Option<&'a str>,
    pub profile: Option<&'a str>,
    pub endpoint: Option<&'a str>,
    pub sts_endpoint: Option<&'a str>,
    pub role_arn: Option<&'a str>,
    pub external_id: Option<&'a str>,
}

/// Checks the AWS keys of an output: `external_id` needs `role_arn`, endpoints are host names
/// or http(s) URLs.
pub fn check_aws(auth: AwsAuth<'_>, path: &KeyPath, issues: &mut Vec<Issue>) {
    if auth.external_id.is_some() && auth.role_arn.is_none() {
        issues.push(Issue::new(
            path.key("external_id"),
            "only used with role_arn: set role_arn too",
        ));
    }
    for (key, value) in [
        ("endpoint", auth.endpoint),
        ("sts_endpoint", auth.sts_endpoint),
    ] {
        if let Some(v) = value
            && let Err(e) = endpoint_url(v)
        {
            issues.push(Issue::new(path.key(key), e));
        }
    }
}

/// The URL of an `endpoint` value: a bare host (optionally with a port) means HTTPS, as in Fluent
/// Bit; a value with a scheme is used as given.
pub fn endpoint_url(value: &str) -> Result<String, String> {
    let v = value.trim();
    if v.is_empty() {
        return Err("must not be empty".to_owned());
    }
    if let Some((scheme, rest)) = v.split_once("://") {
        if scheme != "http" && scheme != "https" {
            return Err(format!("`{v}`: the scheme must be http or https"));
        }
        if rest.is_empty() || rest.starts_with('/') {
            return Err(format!("`{v}` has no host"));
        }
        return Ok(v.trim_end_matches('/').to_owned());
    }
    if v.contains(['/', ' ']) {
        return Err(format!(
            "`{v}` is neither a host name nor a URL (examples: logs.us-east-1.amazonaws.com, http://127.0.0.1:4566)"
        ));
    }
    Ok(format!("https://{v}"))
}

/// An AWS output's options.
pub trait AwsEntry {
    fn aws_auth(&self) -> AwsAuth<'_>;
    /// Where the region is stored (the init process fills it in from the task's region).
    fn region_mut(&mut self) -> &mut Option<String>;
}

/// Declares an entry's options struct with the shared keys first:
/// - `pub struct X ["plugin", input] { .. }`: `alias`;
/// - `pub struct X ["plugin"] { .. }`: `alias`, `match`, `match_regex`;
/// - `pub struct X ["plugin", aws "SERVICE"] { .. }`: those, then the AWS keys (`SERVICE` names
///   the service's `AWS_ENDPOINT_URL_<SERVICE>` variable).
///
/// Attributes and documentation written before `pub struct` are kept.
macro_rules! entry_options {
    ($(#[$m:meta])* pub struct $name:ident [$plugin:literal, input] { $($body:tt)* }) => {
        $(#[$m])*
        pub struct $name {
            #[doc = concat!("Component name in metrics and logs (default `", $plugin, ".<index>`).")]
            pub alias: Option<String>,
            $($body)*
        }
        impl $crate::config::common::Entry for $name {
            fn alias_stem(&self) -> &'static str {
                $plugin
            }
            fn common(&self) -> $crate::config::common::Common<'_> {
                $crate::config::common::Common {
                    alias: self.alias.as_deref(),
                    match_: None,
                    match_regex: None,
                }
            }
            fn alias_mut(&mut self) -> &mut Option<String> {
                &mut self.alias
            }
        }
    };
    ($(#[$m:meta])* pub struct $name:ident [$plugin:literal] { $($body:tt)* }) => {
        $(#[$m])*
        pub struct $name {
            #[doc = concat!("Component name in metrics and logs (default `", $plugin, ".<index>`).")]
            pub alias: Option<String>,
            /// Fluent Bit `Match`: the tags this entry takes; `*` matches any run of characters
            /// including dots; anchored; case-sensitive.
            #[serde(rename = "match")]
            pub match_: Option<String>,
            /// Fluent Bit `Match_Regex`: a regex matched against the tag from its start.
            pub match_regex: Option<String>,
            $($body)*
        }
        $crate::config::common::entry_options!(@entry $name $plugin);
    };
    ($(#[$m:meta])* pub struct $name:ident [$plugin:literal, aws $service:literal] { $($body:tt)* }) => {
        $(#[$m])*
        pub struct $name {
            #[doc = concat!("Component name in metrics and logs (default `", $plugin, ".<index>`).")]
            pub alias: Option<String>,
            /// Fluent Bit `Match`: the tags this entry takes; `*` matches any run of characters
            /// including dots; anchored; case-sensitive.
            #[serde(rename = "match")]
            pub match_: Option<String>,
            /// Fluent Bit `Match_Regex`: a regex matched against the tag from its start.
            pub match_regex: Option<String>,
            /// AWS Region (default: AWS_REGION / AWS_DEFAULT_REGION / the profile's region).
            pub region: Option<String>,
            #[doc = concat!(
                "Endpoint override: a host name (HTTPS, as Fluent Bit takes it) or a full URL \
                 (`http://127.0.0.1:4566`, used as given, for VPC endpoints and local stand-ins). \
                 Default: `AWS_ENDPOINT_URL_", $service, "`, else `AWS_ENDPOINT_URL`, else AWS's."
            )]
            pub endpoint: Option<String>,
            /// Endpoint of STS for `role_arn` (same forms as `endpoint`; default:
            /// `AWS_ENDPOINT_URL_STS`, else `AWS_ENDPOINT_URL`, else AWS's).
            pub sts_endpoint: Option<String>,
            /// Role to assume with STS (default: the SDK's credential chain, e.g. the ECS task role).
            pub role_arn: Option<String>,
            /// External ID passed when assuming `role_arn`.
            pub external_id: Option<String>,
            /// Shared config/credentials profile to use.
            pub profile: Option<String>,
            $($body)*
        }
        $crate::config::common::entry_options!(@entry $name $plugin aws);
        impl $crate::config::common::AwsEntry for $name {
            fn aws_auth(&self) -> $crate::config::common::AwsAuth<'_> {
                $crate::config::common::AwsAuth {
                    region: self.region.as_deref(),
                    profile: self.profile.as_deref(),
                    endpoint: self.endpoint.as_deref(),
                    sts_endpoint: self.sts_endpoint.as_deref(),
                    role_arn: self.role_arn.as_deref(),
                    external_id: self.external_id.as_deref(),
                }
            }
            fn region_mut(&mut self) -> &mut Option<String> {
                &mut self.region
            }
        }
    };
    (@entry $name:ident $plugin:literal $($aws:ident)?) => {
        impl $crate::config::common::Entry for $name {
            fn alias_stem(&self) -> &'static str {
                $plugin
            }
            fn common(&self) -> $crate::config::common::Common<'_> {
                $crate::config::common::Common {
                    alias: self.alias.as_deref(),
                    match_: self.match_.as_deref(),
                    match_regex: self.match_regex.as_deref(),
                }
            }
            fn alias_mut(&mut self) -> &mut Option<String> {
                &mut self.alias
            }
            $(
                fn aws(&self) -> Option<&dyn $crate::config::common::AwsEntry> {
                    let _ = stringify!($aws);
                    Some(self)
                }
                fn aws_mut(&mut self) -> Option<&mut dyn $crate::config::common::AwsEntry> {
                    Some(self)
                }
            )?
        }
    };
}
pub(crate) use entry_options;

/// Declares the enum of one kind of entry (inputs, outputs) from one list, each variant with
/// the names `name` accepts: `Variant(StoredType: OptionsType) = "name" | "other_name",`.
/// Generates the enum, `PLUGINS` (every accepted name), `plugin()` (the first name),
/// `entry()` / `entry_mut()` (the shared header), and `parse`, which reads a table (without its
/// `name`) as the named plugin's options, reporting every problem.
macro_rules! entry_kinds {
    (
        $(#[$m:meta])*
        pub enum $name:ident {
            $(
                $(#[$vm:meta])*
                $variant:ident($stored:ty: $options:ty) = $plugin:literal $(| $other:literal)*,
            )+
        }
    ) => {
        $(#[$m])*
        pub enum $name {
            $(
                $(#[$vm])*
                $(#[serde(alias = $other)])*
                $variant($stored),
            )+
        }

        impl $name {
            /// Every name `name` accepts, in declaration order.
            pub const PLUGINS: &'static [&'static str] = &[$($plugin, $($other,)*)+];

            /// The plugin's name (the first one it is known by).
            pub fn plugin(&self) -> &'static str {
                match self {
                    $(Self::$variant(_) => $plugin,)+
                }
            }

            /// The shared header (alias, match rules).
            pub fn entry(&self) -> &dyn $crate::config::common::Entry {
                match self {
                    $(Self::$variant(c) => std::borrow::Borrow::<$options>::borrow(c),)+
                }
            }

            /// The shared header, to fill in the alias.
            pub fn entry_mut(&mut self) -> &mut dyn $crate::config::common::Entry {
                match self {
                    $(Self::$variant(c) => std::borrow::BorrowMut::<$options>::borrow_mut(c),)+
                }
            }

            /// Checks what the options alone can say ([`Check`](crate::config::common::Check));
            /// what needs other parts of the configuration (a filter's parsers, an input's
            /// storage) is checked by validation.
            pub fn check_options(
                &self,
                path: &$crate::config::spans::KeyPath,
                issues: &mut Vec<$crate::config::errors::Issue>,
            ) {
                match self {
                    $(Self::$variant(c) => $crate::config::common::Check::check(
                        std::borrow::Borrow::<$options>::borrow(c), path, issues),)+
                }
            }

            /// Reads `table` (the entry without its `name`) as plugin `plugin`'s options.
            pub(crate) fn parse(
                plugin: &str,
                table: &toml::Table,
                path: &$crate::config::spans::KeyPath,
                issues: &mut Vec<$crate::config::errors::Issue>,
            ) -> Option<Self> {
                use $crate::config::section::deserialize_table;
                $(
                    if plugin == $plugin $(|| plugin == $other)* {
                        return deserialize_table::<$options>(table, path, issues)
                            .map(|c| Self::$variant(c.into()));
                    }
                )+
                None
            }
        }
    };
}
pub(crate) use entry_kinds;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn endpoint_host_means_https_and_urls_are_kept() {
        assert_eq!(
            endpoint_url("logs.us-east-1.amazonaws.com").unwrap(),
            "https://logs.us-east-1.amazonaws.com"
        );
        assert_eq!(
            endpoint_url("vpce-1.logs.example.com:8443").unwrap(),
            "https://vpce-1.logs.example.com:8443"
        );
        assert_eq!(
            endpoint_url("http://127.0.0.1:4566/").unwrap(),
            "http://127.0.0.1:4566"
        );
        assert!(endpoint_url("ftp://x").is_err());
        assert!(endpoint_url("http://").is_err());
        assert!(endpoint_url("a b").is_err());
        assert!(endpoint_url("").is_err());
    }
}
