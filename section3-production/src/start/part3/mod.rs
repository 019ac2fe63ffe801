//! Part 3: hard modes. What idleness can give back, state that is one across the
//! cluster, calls to another node, and an observer that opens one connection. Every
//! exercise here is `extra`: self-study and teams, not the two-day agenda.
