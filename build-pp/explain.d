build-pp/explain.o: src/explain.c src/explain.h src/conn.h src/addr.h \
 src/tls.h src/config.h src/dest.h src/policy.h src/route.h \
 src/resolver.h src/runtime.h src/log.h
src/explain.h:
src/conn.h:
src/addr.h:
src/tls.h:
src/config.h:
src/dest.h:
src/policy.h:
src/route.h:
src/resolver.h:
src/runtime.h:
src/log.h:
