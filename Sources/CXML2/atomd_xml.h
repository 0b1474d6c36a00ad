#ifndef ATOMD_XML_H
#define ATOMD_XML_H

/* The system's libxml2 (Debian's libxml2-dev): the xpath() expression
   function parses API answers with it and evaluates XPath 1.0. */
#include <libxml/xmlversion.h>
/* Debian builds libxml2 with ICU, and encoding.h then includes ICU's
   headers, which clash with the copy Foundation carries. Nothing here
   touches an encoding handler (the only structure whose layout depends on
   it), so ICU's declarations are left out. */
#undef LIBXML_ICU_ENABLED
#include <libxml/parser.h>
#include <libxml/tree.h>
#include <libxml/xpath.h>
#include <libxml/xpathInternals.h>
#include <libxml/xmlerror.h>

/* Errors of one XPath evaluation go nowhere: the caller reports them
   itself, and libxml2's default handler would print to stderr. */
static void atomd_xml_ignore_error(void *data, xmlErrorPtr error) { (void)data; (void)error; }

/* xmlFree is a global function pointer, which Swift 6 will not read. */
static inline void atomd_xml_free(void *pointer) { xmlFree(pointer); }

static inline void atomd_xpath_silence(xmlXPathContextPtr context) {
    context->error = atomd_xml_ignore_error;
}

#endif
