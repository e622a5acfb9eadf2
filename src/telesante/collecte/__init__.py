"""Collection: drivers that turn what equipment prints into observations."""
