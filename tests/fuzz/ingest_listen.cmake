# SPDX-License-Identifier: MIT
# ingest/listen_tcp.c: TCP line splitting, the .c included by the target
# (corpus in corpus/ingest_tcp_lines/).
nj_fuzz_target(ingest_tcp_lines nj_ingest)
