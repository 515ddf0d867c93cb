build-pp/policy.o: src/policy.c src/policy.h src/addr.h src/route.h \
 src/util.h
src/policy.h:
src/addr.h:
src/route.h:
src/util.h:
