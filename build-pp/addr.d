build-pp/addr.o: src/addr.c src/addr.h src/util.h
src/addr.h:
src/util.h:
