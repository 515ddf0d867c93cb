build-pp/listener.o: src/listener.c src/listener.h src/addr.h
src/listener.h:
src/addr.h:
