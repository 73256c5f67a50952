//! Forward codec (written in the codec work).
