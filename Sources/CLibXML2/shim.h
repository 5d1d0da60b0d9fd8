#include <libxml/xmlversion.h>
/// Debian builds libxml2 with ICU; its headers clash with Foundation's bundled ICU.
#undef LIBXML_ICU_ENABLED
#include <libxml/xmlreader.h>
#include <libxml/parser.h>
#include <libxml/xmlerror.h>
#include <libxml/globals.h>

/// libxml2 prints some diagnostics (input encoding errors) through its generic handler, a
/// variadic C function Swift cannot define: this one drops them. The reader reports the failure
/// itself, with its position, so nothing is lost.
static inline void sluice_xml_ignore_generic(void *ctx, const char *msg, ...) { (void)ctx; (void)msg; }

/// Installs the silent handler for this thread and as the default of threads created later
/// (libxml2 2.9 keeps the handler per thread).
static inline void sluice_xml_silence_generic_errors(void) {
    xmlThrDefSetGenericErrorFunc(NULL, sluice_xml_ignore_generic);
    xmlSetGenericErrorFunc(NULL, sluice_xml_ignore_generic);
}
