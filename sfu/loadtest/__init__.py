"""Load tester: synthetic attendees that drive a running server and measure what they receive."""
