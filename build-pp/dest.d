build-pp/dest.o: src/dest.c src/dest.h src/addr.h
src/dest.h:
src/addr.h:
