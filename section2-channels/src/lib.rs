//! Not yet available: this section arrives in a later release of the course.
