build-pp/reason.o: src/reason.c src/conn.h src/addr.h src/tls.h \
 src/config.h src/dest.h src/policy.h src/route.h
src/conn.h:
src/addr.h:
src/tls.h:
src/config.h:
src/dest.h:
src/policy.h:
src/route.h:
