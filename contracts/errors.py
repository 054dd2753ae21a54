"""Error codes: the first word of a failed model request's message (`invalid_option: ...`) and
the gateway's `{"error": code}`. `imaging.errors` gives each exception class its code from here;
the gateway maps codes back to classes and to HTTP statuses.
"""

from __future__ import annotations

# Bad input: the request fails alone with INVALID_ARGUMENT (gateway: a 4xx).
EMPTY_IMAGE = "empty_image"  # zero bytes (400)
UNSUPPORTED_FORMAT = "unsupported_format"  # not a format read here, or several frames/pages (415)
CORRUPT_IMAGE = "corrupt_image"  # truncated or garbled data, a header that lies (422)
IMAGE_TOO_LARGE = "image_too_large"  # more pixels than max_pixels, from the header (413)
INVALID_OPTION = "invalid_option"  # a request parameter out of range; the message names it (422)
CLIENT_ERRORS = (EMPTY_IMAGE, UNSUPPORTED_FORMAT, CORRUPT_IMAGE, IMAGE_TOO_LARGE, INVALID_OPTION)

# Not the caller's fault.
IMAGE_ERROR = "image_error"  # the root class's code (never raised as such)
INVALID_ARRAY = "invalid_array"  # a caller bug inside the service: an array of the wrong shape
DEVICE_UNAVAILABLE = "device_unavailable"  # device "gpu" configured without a usable GPU
ENCODE_FAILED = "encode_failed"  # every encoder failed on valid pixels
INTERNAL_ERROR = "internal_error"  # anything else (INTERNAL; the gateway answers 500)
