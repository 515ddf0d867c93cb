build-pp/resolver.o: src/resolver.c src/resolver.h src/addr.h src/route.h \
 src/util.h
src/resolver.h:
src/addr.h:
src/route.h:
src/util.h:
