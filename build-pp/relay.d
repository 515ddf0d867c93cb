build-pp/relay.o: src/relay.c src/banner.h src/conn_int.h src/addr.h \
 src/conn.h src/tls.h src/config.h src/dest.h src/policy.h src/route.h \
 src/resolver.h src/worker.h src/runtime.h src/log.h src/stats.h
src/banner.h:
src/conn_int.h:
src/addr.h:
src/conn.h:
src/tls.h:
src/config.h:
src/dest.h:
src/policy.h:
src/route.h:
src/resolver.h:
src/worker.h:
src/runtime.h:
src/log.h:
src/stats.h:
