build-pp/conn.o: src/conn.c src/conn.h src/addr.h src/tls.h src/config.h \
 src/dest.h src/policy.h src/route.h src/conn_int.h src/resolver.h \
 src/iplimit.h src/log.h src/proxy.h src/runtime.h src/stats.h src/util.h \
 src/worker.h
src/conn.h:
src/addr.h:
src/tls.h:
src/config.h:
src/dest.h:
src/policy.h:
src/route.h:
src/conn_int.h:
src/resolver.h:
src/iplimit.h:
src/log.h:
src/proxy.h:
src/runtime.h:
src/stats.h:
src/util.h:
src/worker.h:
