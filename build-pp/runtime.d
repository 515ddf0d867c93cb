build-pp/runtime.o: src/runtime.c src/runtime.h src/config.h src/addr.h \
 src/dest.h src/policy.h src/route.h src/log.h src/tls.h
src/runtime.h:
src/config.h:
src/addr.h:
src/dest.h:
src/policy.h:
src/route.h:
src/log.h:
src/tls.h:
