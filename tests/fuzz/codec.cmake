# SPDX-License-Identifier: MIT
# tsdb/codec: decoders on arbitrary bytes; encode/decode round trips.
nj_fuzz_target(codec_decode nj_codec)
nj_fuzz_target(codec_roundtrip nj_codec)
nj_fuzz_target(codec_huff nj_codec)
