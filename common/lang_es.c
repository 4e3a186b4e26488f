/* Spanish: the catalogue (lang.h). The summary's words are in
 * templates/es/. */
#include "lang.h"

const struct lang lang_es = {
	.tag = "es",
	.months = { "enero", "febrero", "marzo", "abril", "mayo", "junio",
	    "julio", "agosto", "septiembre", "octubre", "noviembre",
	    "diciembre" },
	.date_format = "{day} de {month} de {year}, {time} UTC",
	.decimal_point = ',',
	.byte = "byte", .bytes = "bytes",
	.summary_incomplete = {
	    "  Este mensaje tiene partes que el resumen no ha podido\n"
	    "  enumerar: ábralo para verlo todo.\n",
	    "<li>Este mensaje tiene partes que el resumen no ha podido "
	    "enumerar: ábralo para verlo todo.</li>\n" },
	.page = {
		.from = "De", .to = "Para", .cc = "Cc", .date = "Fecha",
		.subject = "Asunto", .no_subject = "(sin asunto)",
		.message = "Mensaje", .formatted = "Mensaje con formato",
		.images = "Imágenes", .attachments = "Adjuntos",
		.eml = "Descargar el original (.eml) para importarlo en su "
		    "programa de correo",
		.expires = "Este mensaje se puede leer hasta el %s.",
		.keep = "Conservarlo más tiempo (%s días más)",
		.kept = "Hecho: el mensaje se conservará más tiempo.",
		.capped = "Este es el plazo máximo durante el que el remitente "
		    "conserva los mensajes.",
		.show_remote = "Mostrar las imágenes remotas en esta vista",
		.html_title = "Mensaje con formato (aislado)",
		.no_body = "Este mensaje no tiene texto.",
		.download = "descargar",
		.headers = "Cabeceras del mensaje",
		.left_out = "Este mensaje tiene demasiadas partes para "
		    "mostrarlas todas: %s más no aparecen aquí. Descargue el "
		    "original (.eml) para verlo todo.",
		.left_out_some = "Este mensaje tiene demasiadas partes para "
		    "mostrarlas todas: algunas no aparecen aquí. Descargue el "
		    "original (.eml) para verlo todo.",
		.receipt_ask = "El remitente pidió que se le avise cuando lea este mensaje.",
		.receipt_send = "Enviar una confirmación de lectura",
		.receipt_no = "No",
		.receipt_sent = "Hecho: se envió una confirmación de lectura al remitente.",
		.receipt_refused = "Hecho: no se enviará ninguna confirmación de lectura.",
		.receipt_decided = "Ya se envió o se rechazó una confirmación de lectura para este mensaje.",
		.receipt_failed = "No se pudo enviar la confirmación de lectura ahora. Inténtelo de nuevo más tarde.",
		.err_title = {
			[LANG_E404] = "No encontrado",
			[LANG_E410] = "Ya no está disponible",
			[LANG_E500] = "Error del servidor",
			[LANG_E405] = "Método no permitido",
			[LANG_E413] = "Solicitud demasiado grande",
			[LANG_E403] = "Prohibido",
			[LANG_E408] = "Tiempo agotado" },
		.err_text = {
			[LANG_E404] = "No hay ningún mensaje en este enlace. "
			    "Compruebe que ha copiado el enlace completo.",
			[LANG_E410] = "Este mensaje ha caducado o el remitente "
			    "lo ha retirado.",
			[LANG_E500] = "No se ha podido leer el mensaje porque "
			    "está dañado. Se ha avisado al administrador del "
			    "remitente.",
			[LANG_E405] = "Esta dirección no acepta ese tipo de "
			    "solicitud.",
			[LANG_E413] = "La solicitud era demasiado grande.",
			[LANG_E403] = "La solicitud no procede de la propia "
			    "página de este sitio.",
			[LANG_E408] = "La solicitud tardó demasiado en llegar. "
			    "Inténtelo de nuevo." },
	},
};
