build-pp/metrics.o: src/metrics.c src/metrics.h src/addr.h src/stats.h \
 src/conn.h src/tls.h src/config.h src/dest.h src/policy.h src/route.h \
 src/listener.h
src/metrics.h:
src/addr.h:
src/stats.h:
src/conn.h:
src/tls.h:
src/config.h:
src/dest.h:
src/policy.h:
src/route.h:
src/listener.h:
