build-pp/route.o: src/route.c src/route.h src/addr.h
src/route.h:
src/addr.h:
