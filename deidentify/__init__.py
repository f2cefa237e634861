"""deidentify: remove patient identity from DICOM studies before they leave a hospital."""

__version__ = "0.1.0"
