build-pp/log.o: src/log.c src/log.h src/config.h src/addr.h src/dest.h \
 src/policy.h src/route.h
src/log.h:
src/config.h:
src/addr.h:
src/dest.h:
src/policy.h:
src/route.h:
