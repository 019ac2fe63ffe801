//! The course's load generator (placeholder; being written).
