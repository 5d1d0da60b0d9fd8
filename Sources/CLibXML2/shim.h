#include <libxml/xmlversion.h>
/// Debian builds libxml2 with ICU; its headers clash with Foundation's bundled ICU.
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
