/* banned.h - functions this code base does not call, turned into compile
 * errors: the unbounded copies and formats (snprintf, or memcpy with a
 * known length), strtok (not reentrant: strtok_r), gets, the ato* family
 * (no error reporting: strtol and friends) and the temporary names that
 * race (mkstemp). A call expands to an undeclared identifier that names
 * the function, so the compiler says which one.
 *
 * Every .c file includes it after all its other headers: the macros would
 * break the system headers' own declarations of these functions (our
 * headers only declare, so nothing in them escapes the check). */
#ifndef INNBOCKS_BANNED_H
#define INNBOCKS_BANNED_H

#define BANNED(func) sorry_##func##_is_banned_see_banned_h

#undef strcpy
#define strcpy(...) BANNED(strcpy)
#undef strcat
#define strcat(...) BANNED(strcat)
#undef strncpy
#define strncpy(...) BANNED(strncpy)
#undef strncat
#define strncat(...) BANNED(strncat)

#undef sprintf
#define sprintf(...) BANNED(sprintf)
#undef vsprintf
#define vsprintf(...) BANNED(vsprintf)
#undef gets
#define gets(...) BANNED(gets)

#undef strtok
#define strtok(...) BANNED(strtok)

#undef atoi
#define atoi(...) BANNED(atoi)
#undef atol
#define atol(...) BANNED(atol)
#undef atoll
#define atoll(...) BANNED(atoll)
#undef atof
#define atof(...) BANNED(atof)

#undef tmpnam
#define tmpnam(...) BANNED(tmpnam)
#undef mktemp
#define mktemp(...) BANNED(mktemp)

#endif
