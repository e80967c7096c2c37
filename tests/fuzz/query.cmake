# SPDX-License-Identifier: MIT
# query/: InfluxQL parser round trip (corpus in corpus/iql_parse/).
nj_fuzz_target(iql_parse nj_query)
