build-pp/banner.o: src/banner.c src/banner.h
src/banner.h:
