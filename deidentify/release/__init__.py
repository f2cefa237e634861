"""Tamper-evident releases: a DST folder as a signed BagIt bag a partner can verify (issue 18).

One module a step, each imported by name (the batch runner asks :mod:`.layout`
where outputs go, and must not load the cryptography the others need):
``layout`` (the bag's files, where the payload is), ``hashing`` (SHA-256 of many
files, streamed and in parallel), ``manifest`` (manifest files), ``info``
(``bag-info.txt`` from the state folder's report), ``signing_keys`` (the Ed25519
key pair and its fingerprint), ``signature`` (``release.sig``), ``sign``
(:func:`~.sign.sign_release`), ``verify`` (:func:`~.verify.verify_release`) and
``package`` (:func:`~.package.package_zip`).  The pseudonym key plays no part:
signing reads only DST and, for its counts, the state folder's report.
"""

from .errors import ReleaseError
from .layout import is_bag, payload_folder

__all__ = ["ReleaseError", "is_bag", "payload_folder"]
