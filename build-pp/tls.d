build-pp/tls.o: src/tls.c src/tls.h src/config.h src/addr.h src/dest.h \
 src/policy.h src/route.h src/util.h
src/tls.h:
src/config.h:
src/addr.h:
src/dest.h:
src/policy.h:
src/route.h:
src/util.h:
