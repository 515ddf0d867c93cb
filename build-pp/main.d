build-pp/main.o: src/main.c src/client.h src/config.h src/addr.h \
 src/dest.h src/policy.h src/route.h src/control.h src/stats.h src/conn.h \
 src/tls.h src/explain.h src/iplimit.h src/listener.h src/metrics.h \
 src/notify.h src/resolver.h src/log.h src/runtime.h src/worker.h
src/client.h:
src/config.h:
src/addr.h:
src/dest.h:
src/policy.h:
src/route.h:
src/control.h:
src/stats.h:
src/conn.h:
src/tls.h:
src/explain.h:
src/iplimit.h:
src/listener.h:
src/metrics.h:
src/notify.h:
src/resolver.h:
src/log.h:
src/runtime.h:
src/worker.h:
