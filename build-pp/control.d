build-pp/control.o: src/control.c src/control.h src/config.h src/addr.h \
 src/dest.h src/policy.h src/route.h src/stats.h src/conn.h src/tls.h \
 src/log.h src/util.h src/worker.h src/resolver.h src/runtime.h
src/control.h:
src/config.h:
src/addr.h:
src/dest.h:
src/policy.h:
src/route.h:
src/stats.h:
src/conn.h:
src/tls.h:
src/log.h:
src/util.h:
src/worker.h:
src/resolver.h:
src/runtime.h:
