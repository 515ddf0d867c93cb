build-pp/iplimit.o: src/iplimit.c src/iplimit.h src/addr.h
src/iplimit.h:
src/addr.h:
