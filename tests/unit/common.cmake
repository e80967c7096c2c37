# SPDX-License-Identifier: MIT
# common/ primitives.
foreach(t common_buf common_arena common_hash common_clock common_log common_json
          common_strparse common_metrics)
  nj_unit_test(${t} nj_common)
endforeach()
