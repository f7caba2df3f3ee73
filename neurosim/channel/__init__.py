"""The learning channel: feedback matrices C^h and the error messages that travel on it."""
