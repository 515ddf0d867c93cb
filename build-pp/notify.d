build-pp/notify.o: src/notify.c src/notify.h
src/notify.h:
