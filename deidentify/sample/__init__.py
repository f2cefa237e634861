"""A synthetic DICOM archive full of planted (fake) identifying data.

:func:`write_sample` writes CT, MR, US, secondary-capture and SR studies of
made-up patients whose names, IDs, national numbers, addresses and dates sit
in every place real archives hide them: free text, private tags, nested
sequences, pixel banners, overlays and the file names themselves.
``planted.json`` beside the files lists every planted value, so a test can
prove that none of them survives de-identification.
"""

from ._generate import write_sample
from ._manifest import PlantedValue, SampleManifest

__all__ = ["PlantedValue", "SampleManifest", "write_sample"]
