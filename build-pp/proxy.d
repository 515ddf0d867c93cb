build-pp/proxy.o: src/proxy.c src/proxy.h src/addr.h src/util.h
src/proxy.h:
src/addr.h:
src/util.h:
