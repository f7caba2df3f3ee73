"""Golden references: slow integer models the fast engines are tested against bit for bit."""
