# SPDX-License-Identifier: MIT
# tsdb/codec: per-block column encodings.
foreach(t codec_roundtrip codec_corrupt codec_huff)
  nj_unit_test(${t} nj_codec)
endforeach()
