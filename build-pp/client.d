build-pp/client.o: src/client.c src/client.h src/addr.h src/sesscache.h \
 src/util.h
src/client.h:
src/addr.h:
src/sesscache.h:
src/util.h:
