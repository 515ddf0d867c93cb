build-pp/worker.o: src/worker.c src/worker.h src/addr.h src/resolver.h \
 src/runtime.h src/config.h src/dest.h src/policy.h src/route.h src/log.h \
 src/tls.h src/stats.h src/conn.h
src/worker.h:
src/addr.h:
src/resolver.h:
src/runtime.h:
src/config.h:
src/dest.h:
src/policy.h:
src/route.h:
src/log.h:
src/tls.h:
src/stats.h:
src/conn.h:
