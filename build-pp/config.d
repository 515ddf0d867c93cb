build-pp/config.o: src/config.c src/config.h src/addr.h src/dest.h \
 src/policy.h src/route.h src/lex.h src/util.h
src/config.h:
src/addr.h:
src/dest.h:
src/policy.h:
src/route.h:
src/lex.h:
src/util.h:
