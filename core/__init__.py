"""The ground floor: settings, errors, engine clients and the project's vocabulary.

Every other package (pipelines, ingest, quality, dashboards) may import it; it imports
none of them (an import-linter contract in `make lint` keeps it so).
"""
