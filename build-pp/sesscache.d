build-pp/sesscache.o: src/sesscache.c src/sesscache.h
src/sesscache.h:
