build-pp/stats.o: src/stats.c src/stats.h src/conn.h src/addr.h src/tls.h \
 src/config.h src/dest.h src/policy.h src/route.h
src/stats.h:
src/conn.h:
src/addr.h:
src/tls.h:
src/config.h:
src/dest.h:
src/policy.h:
src/route.h:
