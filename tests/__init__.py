"""maintgraph test suite: real embedded services, no mocks of what runs here."""
