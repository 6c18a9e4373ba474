"""Extract clients: read what an agency delivers, per shared/spec/agency-extracts.md."""
