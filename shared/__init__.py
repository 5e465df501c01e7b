"""The course's own package: what two or more lessons use (data, text, encoders, training, grading)."""
