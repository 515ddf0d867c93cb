build-pp/lex.o: src/lex.c src/lex.h
src/lex.h:
